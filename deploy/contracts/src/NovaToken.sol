// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title NovaToken (NOVA)
/// @notice ERC-20 with 18 decimals, a hard cap, owner mint, holder burn and ERC20Votes
/// delegation (clock = block numbers). Besides the standard Transfer/Approval it emits
/// `Mint(to, amount)` and `Burn(from, amount)`. Balances move only through Transfer: an indexer
/// must not count Mint/Burn a second time (a mint is Transfer from 0x0, a burn Transfer to 0x0).
/// `multicall` (delegatecall to itself, msg.sender kept) lets one transaction carry many
/// transfers.
contract NovaToken is ERC20, ERC20Capped, ERC20Permit, ERC20Votes, Ownable, Multicall {
    /// @param to receiver of the newly minted tokens
    /// @param amount minted amount (wei of NOVA)
    event Mint(address indexed to, uint256 amount);
    /// @param from holder whose tokens were destroyed
    /// @param amount burned amount (wei of NOVA)
    event Burn(address indexed from, uint256 amount);

    constructor(address initialOwner, uint256 cap_)
        ERC20("NovaToken", "NOVA")
        ERC20Capped(cap_)
        ERC20Permit("NovaToken")
        Ownable(initialOwner)
    {}

    /// @notice Owner-only mint, bounded by the cap.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
        emit Mint(to, amount);
    }

    /// @notice Burn the caller's own tokens.
    function burn(uint256 amount) external {
        _burn(_msgSender(), amount);
        emit Burn(_msgSender(), amount);
    }

    /// @notice Burn `amount` of `account`'s tokens using the caller's allowance.
    function burnFrom(address account, uint256 amount) external {
        _spendAllowance(account, _msgSender(), amount);
        _burn(account, amount);
        emit Burn(account, amount);
    }

    function _update(address from, address to, uint256 value)
        internal
        override(ERC20, ERC20Capped, ERC20Votes)
    {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
