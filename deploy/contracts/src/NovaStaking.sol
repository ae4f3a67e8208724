// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title NovaStaking
/// @notice Stake NOVA in separate stakes, each with its own id (1, 2, 3, ...). Rewards follow the
/// seed's rule, from block timestamps only:
///
///     rewards(stake, t) = amount * rewardRate * wholeHours(t - lastClaimTime) / 100
///
/// `claimRewards()` pays every active stake of the caller at once and moves each stake's
/// `lastClaimTime` forward by the whole hours it paid (the partial hour keeps accruing).
/// `unstake(id)` first claims the caller's rewards the same way, then returns the principal.
/// `rewardRate` and `minStake` are fixed at deployment. Rewards are paid from the NOVA this
/// contract holds beyond the staked principal (the reward pool).
///
/// Events (the seed's signatures):
///   Staked(user, amount, stakeId)     a new stake `stakeId` of `amount` by `user`
///   Unstaked(user, amount, stakeId)   `user` took back the `amount` principal of `stakeId`
///   RewardsClaimed(user, amount)      `user` was paid `amount` for ALL their active stakes;
///                                     every active stake of `user` advanced its lastClaimTime
///                                     by its whole hours (emitted even when `amount` is 0)
contract NovaStaking is ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Stake {
        address user;
        uint256 amount;
        uint64 startTime;
        uint64 lastClaimTime;
        uint64 endTime;
        bool active;
    }

    uint256 public constant RATE_DENOMINATOR = 100;

    IERC20 public immutable token;
    uint256 public immutable rewardRate;
    uint256 public immutable minStake;

    uint256 public nextStakeId = 1;
    uint256 public totalStaked;
    mapping(uint256 => Stake) private _stakes;
    mapping(address => uint256) public stakedOf;
    mapping(address => uint256[]) private _activeIds;
    mapping(uint256 => uint256) private _activePos; // index + 1 in _activeIds[user]

    event Staked(address indexed user, uint256 amount, uint256 stakeId);
    event Unstaked(address indexed user, uint256 amount, uint256 stakeId);
    event RewardsClaimed(address indexed user, uint256 amount);

    error BelowMinimum(uint256 amount, uint256 minimum);
    error NotYourStake(uint256 stakeId);
    error NotActive(uint256 stakeId);
    error RewardPoolEmpty(uint256 owed, uint256 available);

    constructor(IERC20 token_, uint256 rewardRate_, uint256 minStake_) {
        token = token_;
        rewardRate = rewardRate_;
        minStake = minStake_;
    }

    function stake(uint256 amount) external nonReentrant returns (uint256 stakeId) {
        if (amount < minStake) revert BelowMinimum(amount, minStake);
        stakeId = nextStakeId++;
        uint64 now_ = uint64(block.timestamp);
        _stakes[stakeId] = Stake(msg.sender, amount, now_, now_, 0, true);
        _activeIds[msg.sender].push(stakeId);
        _activePos[stakeId] = _activeIds[msg.sender].length;
        totalStaked += amount;
        stakedOf[msg.sender] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount, stakeId);
    }

    function unstake(uint256 stakeId) external nonReentrant {
        Stake storage s = _stakes[stakeId];
        if (s.user != msg.sender) revert NotYourStake(stakeId);
        if (!s.active) revert NotActive(stakeId);
        _claimAll(msg.sender);
        s.active = false;
        s.endTime = uint64(block.timestamp);
        _removeActive(msg.sender, stakeId);
        totalStaked -= s.amount;
        stakedOf[msg.sender] -= s.amount;
        token.safeTransfer(msg.sender, s.amount);
        emit Unstaked(msg.sender, s.amount, stakeId);
    }

    function claimRewards() external nonReentrant returns (uint256 paid) {
        return _claimAll(msg.sender);
    }

    // ----------------------------------------------------------------- views

    function getStake(uint256 stakeId)
        external
        view
        returns (
            address user,
            uint256 amount,
            uint64 startTime,
            uint64 lastClaimTime,
            uint64 endTime,
            bool active
        )
    {
        Stake storage s = _stakes[stakeId];
        return (s.user, s.amount, s.startTime, s.lastClaimTime, s.endTime, s.active);
    }

    /// @notice Rewards owed now for one stake (0 once unstaked).
    function pendingRewards(uint256 stakeId) public view returns (uint256) {
        Stake storage s = _stakes[stakeId];
        if (!s.active) return 0;
        return rewardsFor(s.amount, s.lastClaimTime, block.timestamp);
    }

    /// @notice Rewards owed now over every active stake of `user`.
    function pendingRewardsOf(address user) external view returns (uint256 total) {
        uint256[] storage ids = _activeIds[user];
        for (uint256 i = 0; i < ids.length; i++) {
            total += pendingRewards(ids[i]);
        }
    }

    function activeStakeIds(address user) external view returns (uint256[] memory) {
        return _activeIds[user];
    }

    /// @notice The reward rule as a pure function.
    function rewardsFor(uint256 amount, uint256 since, uint256 at) public view returns (uint256) {
        if (at <= since) return 0;
        uint256 hours_ = (at - since) / 1 hours;
        return (amount * rewardRate * hours_) / RATE_DENOMINATOR;
    }

    // ----------------------------------------------------------------- internals

    function _claimAll(address user) private returns (uint256 paid) {
        uint256[] storage ids = _activeIds[user];
        for (uint256 i = 0; i < ids.length; i++) {
            Stake storage s = _stakes[ids[i]];
            uint256 hours_ = (block.timestamp - s.lastClaimTime) / 1 hours;
            if (hours_ > 0) {
                paid += (s.amount * rewardRate * hours_) / RATE_DENOMINATOR;
                s.lastClaimTime += uint64(hours_ * 1 hours);
            }
        }
        if (paid > 0) {
            uint256 available = token.balanceOf(address(this)) - totalStaked;
            if (paid > available) revert RewardPoolEmpty(paid, available);
            token.safeTransfer(user, paid);
        }
        emit RewardsClaimed(user, paid);
    }

    function _removeActive(address user, uint256 stakeId) private {
        uint256[] storage ids = _activeIds[user];
        uint256 pos = _activePos[stakeId] - 1;
        uint256 last = ids[ids.length - 1];
        ids[pos] = last;
        _activePos[last] = pos + 1;
        ids.pop();
        delete _activePos[stakeId];
    }
}
